"""QKeras' divide-and-conquer hardware cost search (``qkeras.qtools.DnC``)."""
