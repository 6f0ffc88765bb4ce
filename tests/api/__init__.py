"""Tests of the Q.rad client library against emulated Q.rads."""
