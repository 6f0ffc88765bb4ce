"""Tests of the qrad integration, its clients, the emulated Q.rad and the cloud controller."""
