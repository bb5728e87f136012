{
  "targets": [
    {
      "target_name": "ralm_kernel",
      "sources": ["native/kernel.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-O3", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-psabi"],
      "libraries": ["-lopenblas", "-lm"]
    }
  ]
}
