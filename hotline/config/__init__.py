"""The centre's configuration: schema, YAML loading with file:line:column problems,
cross-reference checks, business hours, and deployment settings from the environment.

Entry points: `hotline.config.loader.load_centre(path) -> Centre` (raises `ConfigError`
with every problem), `hotline.config.calendar.CentreEnvironment` (the IVR engine's
`Environment`), `hotline.config.settings.Settings.from_environ()`.

Nothing is imported here on purpose: `hotline.ivr` imports `hotline.vocabulary.problems`, and
the loader imports `hotline.ivr`, so eager imports would make a cycle.
"""
