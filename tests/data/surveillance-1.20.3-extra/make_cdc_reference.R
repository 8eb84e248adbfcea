# Reference outputs of R's algo.cdc (surveillance 1.20.3) for tocsin's `cdc` method.
# Usage: Rscript make_cdc_reference.R OUTDIR
# algo.cdc works on a disProg object of one weekly series; it is run on each series of the
# weekly data sets below. Output per data set D and config CFG: D__CFG.csv with columns
# t (1-based), series, observed (weekly count), upperbound, alarm (0/1), aggregate (the
# current 4-week total, R's aggr). The data themselves are D__data.csv in
# ../surveillance-1.20.3/ (same data sets, same series order). cdc_configs.csv lists the
# control list (b, m, alpha) and range of every data set and config.
suppressMessages(library(surveillance))
outdir <- commandArgs(trailingOnly=TRUE)[1]
dir.create(outdir, showWarnings=FALSE, recursive=TRUE)
configs <- list()
cfgs <- list(
  cdc_default = list(b=5, m=1, alpha=0.025),
  cdc_m2 = list(b=3, m=2, alpha=0.05),
  cdc_m0 = list(b=2, m=0, alpha=0.01)
)
for (nm in c("salmNewport", "ha.sts", "measlesDE")) {
  e <- new.env(); data(list=nm, package="surveillance", envir=e); x <- get(nm, envir=e)
  obs <- observed(x); n <- nrow(obs); cn <- colnames(obs)
  for (cfg in names(cfgs)) {
    ctl <- cfgs[[cfg]]
    ctl$b <- min(ctl$b, floor((n - 4 * ctl$m - 3 - 20) / 52))
    first <- 52 * ctl$b + 4 * ctl$m + 4   # earliest time point R can evaluate
    ctl$range <- max(first, n - 103):n
    out <- list()
    for (k in seq_len(ncol(obs))) {
      res <- algo.cdc(sts2disProg(x[, k]), control=ctl)
      out[[k]] <- data.frame(t=ctl$range, series=cn[k], observed=obs[ctl$range, k],
                             upperbound=as.vector(res$upperbound),
                             alarm=as.integer(as.vector(res$alarm)),
                             aggregate=as.vector(res$aggr))
    }
    write.csv(do.call(rbind, out), file.path(outdir, paste0(nm, "__", cfg, ".csv")), row.names=FALSE)
    configs[[length(configs) + 1]] <- data.frame(dataset=nm, config=cfg, b=ctl$b, m=ctl$m,
      alpha=ctl$alpha, first_t=min(ctl$range), last_t=max(ctl$range))
    cat(nm, cfg, "b", ctl$b, "m", ctl$m, "alpha", ctl$alpha, "range", min(ctl$range), max(ctl$range), "\n")
  }
}
write.csv(do.call(rbind, configs), file.path(outdir, "cdc_configs.csv"), row.names=FALSE)
