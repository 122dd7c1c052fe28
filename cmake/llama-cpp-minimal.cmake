# Included into llama.cpp's project (CMAKE_PROJECT_llama.cpp_INCLUDE) when the Makefile builds
# llama-cpp-python for the embedded model: only what LocalModel loads, compiled in about half the time.
#
# * The Python bindings load libllama and libggml only: llama.cpp's `common` library and the HTTP
#   library it brings are not built. llama-cpp-python turns `common` on (with FORCE) before
#   llama.cpp's project() starts; this file runs after, inside it.
# * libllama itself (model loading, graph building, sampling) at -O1: the arithmetic is ggml's, which
#   keeps -O3, so inference runs as fast (bench/local_model.py); libllama compiles in 70 % of the time.
set(LLAMA_BUILD_COMMON OFF CACHE BOOL "llama: build common utils library" FORCE)
cmake_language(DEFER CALL target_compile_options llama PRIVATE -O1)
