"""Named vertex groups of the 478-point MediaPipe face mesh (indices are facts of that topology).

"Right"/"left" are the *subject's* sides: the subject's right eye appears on the image's left in a
frontal photo.
"""

from __future__ import annotations

#: Number of vertices of the refined MediaPipe mesh (468 face + 10 iris).
N_VERTICES = 478

# Closed contours, listed in order around the contour.
LIPS_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
LIPS_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
LIPS_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_INNER_LOWER = (308, 324, 318, 402, 317, 14, 87, 178, 88, 95, 78)
LIPS_OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_OUTER_LOWER = (291, 375, 321, 405, 314, 17, 84, 181, 91, 146, 61)
MOUTH_CORNERS = (61, 291, 78, 308)

EYE_R = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
EYE_L = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
EYE_R_UPPER = (246, 161, 160, 159, 158, 157, 173)
EYE_R_LOWER = (7, 163, 144, 145, 153, 154, 155)
EYE_L_UPPER = (466, 388, 387, 386, 385, 384, 398)
EYE_L_LOWER = (249, 390, 373, 374, 380, 381, 382)
EYE_R_CORNERS = (33, 133)
EYE_L_CORNERS = (263, 362)
IRIS_R = (468, 469, 470, 471, 472)
IRIS_L = (473, 474, 475, 476, 477)
IRIS = IRIS_R + IRIS_L

BROW_R = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
BROW_L = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
BROW_R_INNER = (107, 55, 66, 65)
BROW_L_INNER = (336, 285, 296, 295)
BROW_R_OUTER = (70, 46, 63, 53)
BROW_L_OUTER = (300, 276, 293, 283)

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
NOSE_BRIDGE = (168, 6, 197, 195)
NOSE_TIP = (1, 4, 5)
NOSE_WINGS = (129, 358, 98, 327, 64, 294)
CHIN = (152, 175, 199, 200, 18, 148, 377)
CHEEK_R = (205, 50, 101, 118, 117, 123, 187, 207, 206)
CHEEK_L = (425, 280, 330, 347, 346, 352, 411, 427, 426)

#: Points that barely move with expressions: used to fit the canonical -> image transform.
RIGID = (33, 133, 263, 362, 168, 6, 197, 195, 5, 4, 1, 10, 151, 9, 8, 234, 454, 127, 356, 93, 323,
         162, 389, 21, 251, 103, 332, 67, 297, 109, 338)

