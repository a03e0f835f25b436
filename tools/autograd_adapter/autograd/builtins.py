"""autograd's containers are plain Python containers (pytrees) in fungrad."""
from builtins import dict, isinstance, list, tuple, type  # noqa: F401
