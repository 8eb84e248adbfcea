# R's glrnb (Poisson, c.ARL = 5, change = "intercept") on R's fluBYBW, last 104 weeks,
# every 7th of the 140 districts (20): the held-out check of issue 12 as a fixture.
# Run: Rscript make_flubybw_glr.R  (R 4.2.2, surveillance 1.20.3)
suppressMessages(library(surveillance))
data(fluBYBW)
cols <- seq(1, 140, by = 7)
x <- fluBYBW[, cols]
n <- nrow(x)
rng <- (n - 103):n
value <- glrnb(x, control = list(range = rng, c.ARL = 5, change = "intercept", alpha = 0))
cases <- glrnb(x, control = list(range = rng, c.ARL = 5, change = "intercept", alpha = 0,
                                 ret = "cases"))
write.csv(observed(x), "fluBYBW20__data.csv", row.names = FALSE)
out <- data.frame(row = rep(rng, ncol(x)), series = rep(seq_len(ncol(x)) - 1, each = length(rng)),
                  upperbound = as.vector(upperbound(value)), alarm = as.vector(alarms(value)) * 1,
                  upperbound_cases = as.vector(upperbound(cases)))
write.csv(out, "fluBYBW20__glrnb_poisson.csv", row.names = FALSE)
