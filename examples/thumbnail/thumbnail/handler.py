"""Resize a posted JPEG to fit in 128x128 and return it (Pillow from Debian's python3-pil)."""
import io
import os
import uuid

from PIL import Image


def handle(req):
    # req is bytes: RAW_BODY=true (and JPEG bytes are not valid UTF-8 anyway).
    path = os.path.join("/tmp", "thumb-%s.jpg" % uuid.uuid4().hex)
    with Image.open(io.BytesIO(req)) as img:
        img.thumbnail((128, 128))
        img.convert("RGB").save(path, "JPEG", quality=85)
    try:
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.remove(path)
