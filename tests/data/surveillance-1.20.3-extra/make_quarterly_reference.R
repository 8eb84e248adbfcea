# Quarterly data (freq 4) for tocsin's quarter periods: R surveillance 1.20.3 on
# salmNewport's weekly counts summed over consecutive 13-week blocks (all series, the
# trailing incomplete block dropped), as an sts of frequency 4 starting 2004 Q1 indexed
# by position (R's calendar rules cover weeks, months and days only).
# Usage: Rscript make_quarterly_reference.R OUTDIR
suppressMessages(library(surveillance))
outdir <- commandArgs(trailingOnly=TRUE)[1]
data("salmNewport", package="surveillance")
w <- observed(salmNewport)
nq <- floor(nrow(w) / 13)
q <- apply(w[seq_len(13 * nq), , drop=FALSE], 2, function(col) colSums(matrix(col, nrow=13)))
x <- sts(observed=q, start=c(2004, 1), frequency=4)
labels <- sprintf("%d-Q%d", 2004 + (seq_len(nq) - 1) %/% 4, (seq_len(nq) - 1) %% 4 + 1)
cn <- colnames(q)
write.csv(data.frame(period=rep(labels, ncol(q)), series=rep(cn, each=nq), value=as.vector(q)),
          file.path(outdir, "salmNewportQ__data.csv"), row.names=FALSE)
rng <- (nq - 15):nq
out <- function(res, cfg, extra=list()) {
  df <- data.frame(t=rep(rng, ncol(q)), series=rep(cn, each=length(rng)),
                   observed=as.vector(q[rng, , drop=FALSE]),
                   upperbound=as.vector(upperbound(res)), alarm=as.integer(as.vector(alarms(res))))
  for (k in names(extra)) df[[extra[[k]]]] <- as.vector(res@control[[k]])
  write.csv(df, file.path(outdir, paste0("salmNewportQ__", cfg, ".csv")), row.names=FALSE)
  cat(cfg, "alarms", sum(alarms(res), na.rm=TRUE), "\n")
}
ffx <- list(expected="expected", pvalue="pvalue")
out(suppressWarnings(farringtonFlexible(x, control=list(range=rng, b=3, w=1, noPeriods=1,
    weightsThreshold=1, pastWeeksNotIncluded=1, pThresholdTrend=0.05, thresholdMethod="delta",
    alpha=0.01))), "farrington_orig", ffx)
out(suppressWarnings(farringtonFlexible(x, control=list(range=rng, b=3, w=1, noPeriods=2,
    weightsThreshold=2.58, pastWeeksNotIncluded=2, pThresholdTrend=1, thresholdMethod="nbPlugin",
    alpha=0.01))), "farrington_noufaily", ffx)
out(suppressWarnings(farrington(x, control=list(range=rng, b=3, w=1, alpha=0.05))), "farrington_classic")
out(earsC(x, control=list(range=rng, method="C1", baseline=7, alpha=0.001)), "ears_C1")
