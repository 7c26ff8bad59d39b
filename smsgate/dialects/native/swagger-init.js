// Swagger UI on /openapi.json. Paths are relative to /docs, so that the page also works
// behind a proxy that serves smsgate under a path prefix. validatorUrl null: Swagger UI
// would otherwise send the document to an outside validator.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    defaultModelsExpandDepth: 0,
  });
});
