#!/usr/bin/env bash
# Writes the MovieLens ratings that Debian's r-cran-dslabs package ships (its `movielens`
# object: one joined table movieId,title,year,genres,userId,rating,timestamp) to
# OUT_DIR/movielens.csv, installing r-base-core and r-cran-dslabs with apt-get when
# Rscript or the package is missing (sudo only when not root). Prints the row count.
# Usage: bash scripts/fetch-movielens.sh OUT_DIR
# Then:  the MovieLens importer (packages/data/src/import/movielens.ts) reads the file.
set -euo pipefail

if [[ $# -ne 1 || -z "$1" ]]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
out_dir=$1

has_dslabs() {
  command -v Rscript >/dev/null 2>&1 &&
    Rscript -e 'quit(status = if (requireNamespace("dslabs", quietly = TRUE)) 0 else 1)' >/dev/null 2>&1
}

if ! has_dslabs; then
  echo "fetch-movielens: installing r-base-core and r-cran-dslabs with apt-get" >&2
  sudo=$([[ "$(id -u)" = 0 ]] || echo sudo)
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends r-base-core r-cran-dslabs
  has_dslabs || { echo "fetch-movielens: R package dslabs still not loadable" >&2; exit 1; }
fi

mkdir -p "$out_dir"
# The path goes in as an argument, not spliced into the R code, so any name is safe.
# A temporary name first, renamed when complete: an interrupted run leaves no half file.
target="$out_dir/movielens.csv"
Rscript -e '
  args <- commandArgs(trailingOnly = TRUE)
  suppressPackageStartupMessages(library(dslabs))
  data(movielens)
  write.csv(movielens, args[1], row.names = FALSE)
  cat(nrow(movielens), "rows written to", args[2], "\n")
' "$target.tmp" "$target"
mv "$target.tmp" "$target"
