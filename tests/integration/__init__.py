"""Tests of the Home Assistant integration against emulated Q.rads."""
