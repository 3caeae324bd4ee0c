// zlib, for reading the PNGs outside providers send (their pixels are deflate-compressed).
#include <zlib.h>
