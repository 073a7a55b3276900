"""The portal's one date style, 01-12-2026 18:39: on its pages (``nldate`` asks for these formats by name) and where
Django formats dates itself (the admin's lists and fields). Everything not set here is Django's own for the
language."""

DATE_FORMAT = "d-m-Y"
DATETIME_FORMAT = "d-m-Y H:i"
SHORT_DATE_FORMAT = "d-m-Y"
SHORT_DATETIME_FORMAT = "d-m-Y H:i"
