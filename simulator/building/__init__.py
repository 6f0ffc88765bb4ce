"""A building of Q.rads over a winter day, in-process: the policies compared."""
