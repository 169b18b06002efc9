"""`sockspec bench`: throughput of an echo server, side by side with a C baseline measured in the same run.

cli.py reads the command line; columns.py says what is compared (the server
under test, the project's C echo server of the same model in c/, and
socketserver's via stdlib_echo.py); run.py starts them and measures every
figure on each in turn; measure.py is one figure on one server; load.py is
the load client; pinning.py puts client and servers on different CPUs;
report.py prints the table, the JSON and the plot.
"""
