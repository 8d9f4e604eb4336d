"""The phone assistant: a phone (an app, or a PBX bridge) paired with one register tells
Kassa about each incoming call; the register shows who is calling and acts on it."""
