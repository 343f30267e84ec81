/** Whether a local time falls inside a maintenance window "HH:MM"–"HH:MM" (which may span midnight). */
export interface MaintenanceWindow {
  start: string;
  end: string;
}

const minutesOf = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));

export function inMaintenanceWindow(window: MaintenanceWindow | undefined, now: Date): boolean {
  if (!window) return false;
  const minutes = now.getHours() * 60 + now.getMinutes();
  const [start, end] = [minutesOf(window.start), minutesOf(window.end)];
  return start <= end ? minutes >= start && minutes < end : minutes >= start || minutes < end;
}
