// A shared library named like a plugin but without the entry point.
extern "C" int gpukit_not_a_plugin() { return 0; }
