// Starts Swagger UI on the document named by the page's data-url. A file
// of its own rather than an inline script, so that the page's
// Content-Security-Policy can forbid inline scripts.
window.addEventListener("load", function () {
	var el = document.getElementById("swagger-ui");
	window.ui = SwaggerUIBundle({
		url: el.dataset.url,
		dom_id: "#swagger-ui",
		deepLinking: true,
		validatorUrl: null // no badge from validator.swagger.io: the page works offline
	});
});
