"""What the screens show, as plain Python and pandas (no Streamlit): one home for each rule.

- `formats`: how a number, duration, age or time reads ("--" when unknown, never 0);
- `text`: vendor strings made safe for Markdown labels and plotly labels;
- `levels`: threshold levels (`Level`), hysteresis, the worst of several;
- `aggregates`: headline numbers, state counts and the fallbacks when a feed is missing;
- `tables`: the typed table models the pages show (numbers stay numbers);
- `freshness`: how old a snapshot is and what went wrong, as a typed line;
- `drilldown`: the drill-down filters, their URL form and the activity tables;
- `headlines`: the five headline tiles the overview and the wall share;
- `wall`: the wall's URL parameters and schedule; `wall_models`: the frozen values each wall
  view shows; `wall_board`: the board that builds them once per data version.

Pages and ``ui/`` only lay these out and bind widgets; tests import them without an app.
"""
