"""sockspec: a pytest specification suite for TCP socket servers, and the tools around it."""
