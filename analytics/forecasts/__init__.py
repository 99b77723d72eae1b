"""Completion forecasts of open tasks and projects (issue #22), and their calibration.

- `workdays`: working-day arithmetic (Monday to Friday, on team-local dates) shared with the kept figures.
- `method`: the Monte Carlo itself, pure numpy: records -> predictive distributions -> p50/p85 dates.
- `history`: the team's kept records (analytics.models StageDay and CompletedDay sums) as of any day.
- `refresh`: forecasts written and kept in step: the observer of task writes, the team refresh, the daily job.
- `backtest`: the team's completed tasks replayed as at their start; writes ForecastCalibration.

docs/forecasts.md explains the method, its fallbacks and its calibration.
"""
