/**
 * A script for the fleet page, installed before the page's own (page.addInitScript): it records
 * every long task (PerformanceObserver "longtask") in `window.__longTasks` and the moment the list
 * shows all `size` boxes in `window.__allRowsAt`. Shared by bench/fleetPage.ts and bench/fleetServe.ts.
 */
export function fleetPageProbe(size: number): string {
  return `
  window.__longTasks = [];
  new PerformanceObserver((list) => { for (const entry of list.getEntries()) window.__longTasks.push({ start: entry.startTime, ms: entry.duration }); })
    .observe({ type: "longtask", buffered: true });
  const check = () => {
    const list = document.getElementById("list");
    if (list && list.dataset.shown === "${size}" && list.querySelector(".row:not([hidden])")) window.__allRowsAt = performance.now();
    else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
`;
}
