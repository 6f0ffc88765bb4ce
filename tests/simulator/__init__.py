"""Tests of the emulated Q.rad."""
