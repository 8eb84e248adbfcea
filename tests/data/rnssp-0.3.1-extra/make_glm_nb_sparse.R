#!/usr/bin/env Rscript
# MASS::glm.nb on sparse influenza districts, where it stops far from the maximum of the
# likelihood (theta.ml: "iteration limit reached"), as Rnssp's alert_nbinom fits them
# (y ~ obs + cos + sin, harmonic period 52.18 rows, baseline the first 313 weeks, i.e. up to
# 2006-12-25). Data: src/tocsin/data/fluBYBW_observed.csv (R surveillance fluBYBW, RKI).
# Usage (from the repository root):
#   Rscript tests/data/rnssp-0.3.1-extra/make_glm_nb_sparse.R > tests/data/rnssp-0.3.1-extra/glm_nb_sparse.csv
d <- read.csv("src/tocsin/data/fluBYBW_observed.csv", colClasses = c("character", "character", "numeric"))
cat("series,theta,intercept,obs,cos,sin,th_warn\n")
for (s in c("9771", "9777", "8128", "9271")) {
  x <- d[d$jurisdiction == s, ]; x <- x[order(x$period), ]
  x$obs <- seq_len(nrow(x)); x$cos <- cos(2 * pi * x$obs / 52.18); x$sin <- sin(2 * pi * x$obs / 52.18)
  m <- suppressWarnings(MASS::glm.nb(value ~ obs + cos + sin, data = x[1:313, ]))
  cf <- coef(m)
  cat(sprintf('"%s",%.17g,%.17g,%.17g,%.17g,%.17g,"%s"\n', s, m$theta, cf[1], cf[2], cf[3], cf[4],
              if (is.null(m$th.warn)) "" else m$th.warn))
}
