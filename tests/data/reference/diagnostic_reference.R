# Reference values for tests/analysis/test_diagnostic.py (R 4.2.2, survey 4.1.1).
# Two "problems" built from the API one-stage cluster sample: a = sch.wide == "Yes",
# b = comp.imp == "Yes", c = awards == "Yes"; design svydesign(id=~dnum, weights=~pw, fpc=~fpc).
suppressMessages(library(survey))
options(digits = 12)
data(api)
d <- transform(apiclus1, a = as.numeric(sch.wide == "Yes"), b = as.numeric(comp.imp == "Yes"),
               c = as.numeric(awards == "Yes"))
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = d, fpc = ~fpc)
m <- svymean(~a + b + c, dclus1)
print(m); cat("se", SE(m), "\n")
for (pair in list(c("a", "b"), c("a", "c"), c("c", "b"))) {
  k <- svycontrast(m, setNames(c(1, -1), pair))
  t <- coef(k) / SE(k)
  p <- 2 * pt(-abs(t), degf(dclus1))
  cat(pair, "diff", coef(k), "se", SE(k), "p", p, "\n")
}
cat("holm", p.adjust(c(0.01, 0.04, 0.03, 0.2), "holm"), "\n")
