# Reference outputs of R's classic algo.farrington (surveillance 1.20.3) for tocsin's
# method `farrington`. Usage: Rscript make_farrington_classic.R OUTDIR
# Runs algo.farrington on each series (as farrington()/wrap.algo does) and keeps, per
# series and time point, the upper bound, alarm, trend flag and pd (q = lower-tail
# probability of the observation, m = the predicted mean).
suppressMessages(library(surveillance))
outdir <- commandArgs(trailingOnly=TRUE)[1]
cfgs <- list(
  farrington_classic = list(b=5, w=3, reweight=TRUE, alpha=0.05, trend=TRUE, limit54=c(5,4), powertrans="2/3"),
  farrington_classic_b3 = list(b=3, w=2, reweight=TRUE, alpha=0.01, trend=TRUE, limit54=c(3,3), powertrans="1/2"),
  farrington_classic_none = list(b=4, w=1, reweight=FALSE, alpha=0.02, trend=TRUE, limit54=c(0,1), powertrans="none")
)
for (nm in c("ha.sts", "salmNewport", "rotaBB")) {
  e <- new.env(); data(list=nm, package="surveillance", envir=e); x <- get(nm, envir=e)
  n <- nrow(observed(x)); f <- x@freq
  cn <- colnames(observed(x)); if (is.null(cn)) cn <- paste0("s", seq_len(ncol(observed(x))))
  for (cfg in names(cfgs)) {
    ctl <- cfgs[[cfg]]
    if (f == 12) ctl$w <- min(ctl$w, 1)
    ctl$b <- min(ctl$b, floor((n - ctl$w - 1) / f))
    rng <- max(f * ctl$b + ctl$w + 1, n - 103):n
    ctl$range <- rng
    out <- NULL
    for (j in seq_len(ncol(observed(x)))) {
      d <- sts2disProg(x[, j])
      r <- suppressWarnings(algo.farrington(d, control=ctl))
      out <- rbind(out, data.frame(t=rng, series=cn[j], observed=observed(x)[rng, j],
        upperbound=as.vector(r$upperbound), alarm=as.integer(as.vector(r$alarm)),
        trend=as.vector(r$trend), q=r$control$pd[, 1], m=r$control$pd[, 2]))
    }
    write.csv(out, file.path(outdir, paste0(nm, "__", cfg, ".csv")), row.names=FALSE)
    cat(nm, cfg, "b", ctl$b, "w", ctl$w, "alarms", sum(out$alarm, na.rm=TRUE), "\n")
  }
}
