"""What an uploaded document is, judged by parsing it, never by its name alone.

A file is recognised by its first bytes and then opened with the library that
reads its format: pypdf for PDFs, Pillow for PNG and JPEG. Anything that only
looks like one of them at the start (an HTML page behind `%PDF-`), that cannot
be read, that is encrypted, or that would decode into an enormous image is
refused with a message on the `file` field.
"""

import logging
from pathlib import PurePath

from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError

logger = logging.getLogger(__name__)

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"

# The formats accepted, recognised by their first bytes.
SIGNATURES = {
    b"%PDF-": PDF,
    b"\x89PNG\r\n\x1a\n": PNG,
    b"\xff\xd8\xff": JPEG,
}
NAMES = {PDF: "a PDF", PNG: "a PNG image", JPEG: "a JPEG image"}
EXTENSIONS = {".pdf": PDF, ".png": PNG, ".jpg": JPEG, ".jpeg": JPEG}
PILLOW_FORMATS = {PNG: "PNG", JPEG: "JPEG"}


def sniff_content_type(head: bytes) -> str | None:
    for signature, content_type in SIGNATURES.items():
        if head.startswith(signature):
            return content_type
    return None


def document_content_type(upload) -> str:
    """The content type of an uploaded PDF, PNG or JPEG; ValidationError on `file` otherwise."""
    upload.seek(0)
    content_type = sniff_content_type(upload.read(16))
    if content_type is None:
        raise _refused("Only PDF, PNG and JPEG files are accepted.")
    named = EXTENSIONS.get(PurePath(upload.name or "").suffix.lower())
    if named is not None and named != content_type:
        raise _refused(f"The file is named {upload.name} but is {NAMES[content_type]}.")
    upload.seek(0)
    if content_type == PDF:
        _check_pdf(upload)
    else:
        _check_image(upload, content_type)
    upload.seek(0)
    return content_type


def _check_pdf(upload) -> None:
    try:
        reader = PdfReader(upload)
        if reader.is_encrypted:
            raise _refused("The PDF is encrypted; upload it without a password.")
        pages = reader.pages
        if len(pages) == 0:
            raise _refused("The PDF has no pages.")
        for page in pages:
            page.mediabox  # noqa: B018  (reads each page's dictionary)
    except ValidationError:
        raise
    except (PyPdfError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        # A file pypdf cannot make sense of: log why, tell the user what.
        logger.info("refused an unreadable PDF %r: %s", upload.name, exc)
        raise _refused("The file begins like a PDF but is not a readable PDF.") from None


def _check_image(upload, content_type: str) -> None:
    expected = PILLOW_FORMATS[content_type]
    unreadable = f"The file is not a readable {expected} image."
    too_large = f"The image has more than {Image.MAX_IMAGE_PIXELS:,} pixels."
    try:
        with Image.open(upload, formats=[expected]) as image:
            # Pillow only warns from MAX_IMAGE_PIXELS (it raises at twice that);
            # the size is known from the header, before any pixel is decoded.
            # (Not warnings.catch_warnings: it is not thread-safe.)
            if image.width * image.height > Image.MAX_IMAGE_PIXELS:
                raise _refused(too_large)
            if image.width * image.height == 0:
                raise _refused(unreadable)
            image.verify()
        upload.seek(0)
        with Image.open(upload, formats=[expected]) as image:
            image.load()
    except Image.DecompressionBombError:
        raise _refused(too_large) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        logger.info("refused an unreadable image %r: %s", upload.name, exc)
        raise _refused(unreadable) from None


def _refused(message: str) -> ValidationError:
    return ValidationError({"file": message})
