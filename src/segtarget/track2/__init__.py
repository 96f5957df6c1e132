"""Track 2, whom should we target? Cohort, design, propensity, positivity, effects, CATE, evaluation, figures."""
