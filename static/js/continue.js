// A waiting page goes on by itself once its seconds are up, as if its Continue button were
// pressed: its form is sent again, or its link followed (a real navigation: redirects and
// history work as without JavaScript). Not a <meta http-equiv="refresh">, which axe reports
// as a critical failure of WCAG 2.2.1: without JavaScript the shopper presses Continue.
for (const element of document.querySelectorAll("[data-continue-after]")) {
  const seconds = Number(element.dataset.continueAfter) || 5;
  const goOn =
    element instanceof HTMLFormElement ? () => element.requestSubmit() : () => element.click();
  setTimeout(goOn, seconds * 1000);
}
