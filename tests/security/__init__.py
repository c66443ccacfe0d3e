"""Attacks of one tenant on another (issue 17), each reproduced as a test."""
