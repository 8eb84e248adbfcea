# Reference outputs of R's farringtonFlexible (surveillance 1.20.3) with Noufaily's
# settings and reweight = FALSE, for tocsin's `noufaily_two_week` / `recommended` on
# sparse baselines (parameter sparse_mean). Usage: Rscript make_farrington_noreweight.R OUTDIR
# Same data, range and control list as config farrington_noufaily of
# ../surveillance-1.20.3/make_reference.R, plus reweight = FALSE.
suppressMessages(library(surveillance))
outdir <- commandArgs(trailingOnly=TRUE)[1]
extra <- list(expected="expected", mu0Vector="mu0", phiVector="phi", trendVector="trend_coef",
              pvalue="pvalue", score="score")
for (nm in c("ha.sts", "salmNewport")) {
  e <- new.env(); data(list=nm, package="surveillance", envir=e); x <- get(nm, envir=e)
  n <- nrow(observed(x)); f <- x@freq
  b <- min(5, floor((n - 27 - 4) / f)); rng <- max(f*b+3+1+1, n-103):n
  ctl <- list(range=rng, b=b, w=3, noPeriods=10, weightsThreshold=2.58, pastWeeksNotIncluded=26,
              pThresholdTrend=1, thresholdMethod="nbPlugin", alpha=0.01, reweight=FALSE)
  res <- suppressWarnings(farringtonFlexible(x, control=ctl))
  cn <- colnames(observed(x)); if (is.null(cn)) cn <- paste0("s", seq_len(ncol(observed(x))))
  ub <- upperbound(res); al <- alarms(res)
  df <- data.frame(t=rep(rng, ncol(ub)), series=rep(cn, each=length(rng)),
                   observed=as.vector(observed(x)[rng, , drop=FALSE]),
                   upperbound=as.vector(ub), alarm=as.integer(as.vector(al)))
  for (k in names(extra)) df[[extra[[k]]]] <- as.vector(res@control[[k]])
  write.csv(df, file.path(outdir, paste0(nm, "__farrington_noufaily_noreweight.csv")), row.names=FALSE)
  cat(nm, "b", b, "alarms", sum(al, na.rm=TRUE), "\n")
}
