// GET /docs/init.js (lighttpd.conf): starts Swagger UI on the page. A file of its own, not an
// inline script, so the page's Content-Security-Policy can allow script files of this origin only.
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
