"""The mystery shopper (MONITOR: "mystery shopping exercises"; docs/probe.md).

A probe is a marked synthetic enquiry sent on each configured channel as a resident would
send it. It goes through the whole pipeline and is acknowledged (that is what is measured),
then the case it opened is set apart: never in a staff queue, never in residents' figures.

- `marker`: the signed marker (pure, no I/O), and how the pipeline tells a probe;
- `checks`: what an acknowledgement must carry (pure);
- `shoppers`: sending on each channel (SMTP relay, the chat socket, Twilio);
- `runner`: one probe run, timed and recorded in the `probes` table;
- `health`: each channel's health for the dashboard and /api/status;
- `worker`: the schedule inside `doorstep serve`.
"""
