"""An image-only Qwen2-VL processor, so that loading the pipeline never needs torchvision.

transformers' ``Qwen2VLProcessor`` has a video-processor slot whose class needs torchvision; the
Qwen-Image-Edit pipeline only ever passes images. :func:`make_processor` builds the same processor
(tokenizer + Qwen2-VL image processor, PIL backend) without that slot, and
:func:`load_processor` rebuilds it from a saved pipeline's ``processor/`` (or ``tokenizer/``) folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_CLASS: type | None = None


def processor_class() -> type:
    """``Qwen2VLProcessor`` without its video slot (built once, lazily, to keep imports light)."""
    global _CLASS
    if _CLASS is None:
        from transformers import Qwen2VLProcessor
        from transformers.processing_utils import ProcessorMixin

        class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
            """Qwen2-VL processor for images only: text + image placeholders, no video processor."""

            attributes = ["image_processor", "tokenizer"]

            def __init__(self, image_processor: Any = None, tokenizer: Any = None,
                         chat_template: Any = None, **kwargs: Any) -> None:
                self.image_token = "<|image_pad|>"
                self.video_token = "<|video_pad|>"
                self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
                self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
                ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

        _CLASS = ImageOnlyQwen2VLProcessor
    return _CLASS


def make_processor(tokenizer: Any, *, min_pixels: int | None = None, max_pixels: int | None = None,
                   image_processor: Any = None) -> Any:
    """The image-only processor around ``tokenizer`` (a fresh PIL Qwen2-VL image processor by default)."""
    if image_processor is None:
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        kw = {k: v for k, v in (("min_pixels", min_pixels), ("max_pixels", max_pixels)) if v is not None}
        image_processor = Qwen2VLImageProcessorPil(**kw)
    return processor_class()(image_processor=image_processor, tokenizer=tokenizer)


def load_processor(model_dir: str | Path) -> Any:
    """Rebuild the processor of the pipeline saved in ``model_dir`` (``processor/``, else ``tokenizer/``)."""
    from transformers import Qwen2Tokenizer
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    root = Path(model_dir)
    proc_dir = root / "processor"
    tok_dir = proc_dir if (proc_dir / "tokenizer_config.json").exists() else root / "tokenizer"
    tokenizer = Qwen2Tokenizer.from_pretrained(tok_dir)
    image_processor = (Qwen2VLImageProcessorPil.from_pretrained(proc_dir) if proc_dir.is_dir()
                       else Qwen2VLImageProcessorPil())
    return make_processor(tokenizer, image_processor=image_processor)

