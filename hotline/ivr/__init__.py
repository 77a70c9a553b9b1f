"""The IVR: flow files, their checks, and the engine that runs a call through them.

- `model`: what a flow file may say (pydantic; `Flow`, one class per node type)
- `prompts`: the prompt catalogue and resolving ids to `Prompt`s in a language
- `validate`: `check_flows(flows, FlowCheckContext(...))` -> problems with field paths
- `compiled`: flows compiled once into plain dataclasses for the engine
- `engine`: `FlowEngine.start/step`, a pure state machine over `IvrState`
- `environment`: what a decision may consult (`Environment`), `StaticEnvironment`
- `diagram`, `files`, `cli`: text/Mermaid/dot views, reading files, `hotline flows|call`
"""
