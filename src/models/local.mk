# The model-family registry: opens any model file by its content (lm_open).
# It sits above lm/, ngram/ and nn/, the only code that knows every family.
libautodidact_a_SOURCES += src/models/models.c
