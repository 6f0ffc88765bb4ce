"""Tests of the qrad integration, its clients and the emulated Q.rad."""
