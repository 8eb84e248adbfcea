# Extra reference outputs of R surveillance 1.20.3 for tocsin's cusum, glr_poisson,
# glr_negbin and outbreak_p: options that ../surveillance-1.20.3/make_reference.R does not
# cover. Usage: Rscript make_ears_cusum_glr_reference.R OUTDIR
# Output per data set D and config CFG: D__CFG.csv with columns t (1-based), series,
# observed, upperbound, alarm (0/1); the same format as ../surveillance-1.20.3/. Ranges
# are those of make_reference.R: rngE (EARS/CUSUM/outbreakP) and rng (glrnb).
suppressMessages(library(surveillance))
outdir <- commandArgs(trailingOnly=TRUE)[1]
dir.create(outdir, showWarnings=FALSE, recursive=TRUE)
writeRes <- function(x, res, nm, cfg, rng) {
  cn <- colnames(observed(x)); if (is.null(cn)) cn <- paste0("s", seq_len(ncol(observed(x))))
  ub <- upperbound(res); al <- alarms(res)
  df <- data.frame(t=rep(rng, ncol(ub)), series=rep(cn, each=length(rng)),
                   observed=as.vector(observed(x)[rng,,drop=FALSE]),
                   upperbound=as.vector(ub), alarm=as.integer(as.vector(al)))
  write.csv(df, file.path(outdir, paste0(nm, "__", cfg, ".csv")), row.names=FALSE)
}
for (nm in c("salmNewport", "ha.sts", "measlesDE", "rotaBB")) {
  e <- new.env(); data(list=nm, package="surveillance", envir=e); x <- get(nm, envir=e)
  n <- nrow(observed(x)); f <- x@freq
  b <- min(5, floor((n - 27 - 4) / f)); rng <- max(f*b+3+1+1, n-103):n
  rngE <- max(8, n-103):n
  cu <- function(...) function() cusum(x, control=modifyList(list(range=rngE, k=1.04, h=2.26), list(...)))
  gl <- function(...) function() glrnb(x, control=modifyList(list(range=rng, c.ARL=5, mu0=NULL, alpha=0, Mtilde=1, M=-1, change="intercept", theta=NULL, dir="inc", ret="value"), list(...)))
  cfgs <- list(
    cusum_anscombe = list(cu(m=NULL, trans="anscombe"), rngE),
    cusum_anscombe2nd = list(cu(m=NULL, trans="anscombe2nd"), rngE),
    cusum_pearsonNegBin = list(cu(m=NULL, trans="pearsonNegBin", alpha=0.2), rngE),
    cusum_anscombeNegBin = list(cu(m=NULL, trans="anscombeNegBin", alpha=0.1), rngE),
    cusum_none = list(cu(m=NULL, trans="none", k=3, h=10), rngE),
    cusum_m_number = list(cu(m=2.5, trans="standard"), rngE),
    cusum_glm_standard = list(cu(m="glm", trans="standard"), rngE),
    cusum_glm_rossi = list(cu(m="glm", trans="rossi"), rngE),
    glrpois_cases = list(gl(ret="cases"), rng),
    glrpois_dec = list(gl(dir="dec", c.ARL=2), rng),
    glrpois_dec_cases = list(gl(dir="dec", c.ARL=2, ret="cases"), rng),
    glrpois_window = list(gl(M=20, Mtilde=2), rng),
    glrpois_window_cases = list(gl(M=20, Mtilde=1, ret="cases"), rng),
    glrpois_mtilde3 = list(gl(Mtilde=3), rng),
    glrpois_epi = list(gl(change="epi"), rng),
    glrpois_epi_window = list(gl(change="epi", M=15, Mtilde=2), rng),
    glrpois_theta = list(gl(theta=log(2)), rng),
    glrpois_theta_cases = list(gl(theta=log(2), ret="cases"), rng),
    glrnb_nb = list(gl(alpha=0.2), rng),
    glrnb_nb_window = list(gl(alpha=0.2, M=20, Mtilde=2, dir="dec", c.ARL=2), rng),
    glrnb_nb_epi = list(gl(alpha=0.2, change="epi"), rng),
    glrnb_nb_theta = list(gl(alpha=0.2, theta=log(2)), rng),
    glrnb_nb_theta_cases = list(gl(alpha=0.2, theta=log(2), ret="cases"), rng),
    outbreakP_cases = list(function() outbreakP(x, control=list(range=rngE, k=100, ret="cases", maxUpperboundCases=1e5)), rngE),
    outbreakP_k10 = list(function() outbreakP(x, control=list(range=rngE, k=10, ret="value")), rngE)
  )
  for (cfg in names(cfgs)) {
    t0 <- Sys.time()
    res <- tryCatch(suppressMessages(suppressWarnings(capture.output(r <- cfgs[[cfg]][[1]]()))),
                    error=function(e) { cat(nm, cfg, "ERROR", conditionMessage(e), "\n"); NULL })
    if (!is.null(res)) {
      writeRes(x, r, nm, cfg, cfgs[[cfg]][[2]])
      cat(nm, cfg, "alarms", sum(alarms(r), na.rm=TRUE), "secs", round(as.numeric(Sys.time() - t0, units="secs"), 1), "\n")
    }
  }
}
