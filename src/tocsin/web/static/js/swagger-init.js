// Starts Swagger UI on /docs (kept out of the page: the CSP forbids inline script).
window.addEventListener("load", function () {
  var el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: el.dataset.openapiUrl, dom_id: "#swagger-ui" });
});
