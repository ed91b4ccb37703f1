// Progressive enhancement: every page works without this file. It marks the body as
// JavaScript-enabled (the job of the inline script GOV.UK's template would have, which the
// Content-Security-Policy forbids) and starts GOV.UK Frontend's components.
import { initAll } from "../govuk/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
