// Every ready-made layer. Each is also importable on its own path (`llm-onion/middleware/<name>`),
// so an application loads only the layers it uses.
export {}
