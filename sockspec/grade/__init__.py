"""`sockspec grade`: build, sandbox and run the spec on every submission of a class, and write reports.

A class of servers (the server spec) or, with `--role client`, of clients
(the client spec): the same steps, sandbox and reports for both.  One
module per job: `discover` finds submissions, `address` finds where a
program listens or connects, `cgroups` and `sandbox` confine a run, `sandbox_init` is the
bootstrap that runs inside the sandbox, `run` grades one submission end to
end, `scoring` turns results into points, `record` is what one graded
submission is, `reports` and `report_html` write the files, `progress`
shows the run, `cli` and `merge` are the two commands.
"""
