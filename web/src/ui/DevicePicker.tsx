// A labelled <select> of cameras, microphones or speakers (pre-join and in-call settings).

export function DevicePicker(props: {
  label: string;
  devices: MediaDeviceInfo[];
  value: string;
  onChange(id: string): void;
}) {
  if (props.devices.length === 0) return null;
  return (
    <label className="device-picker">
      <span>{props.label}</span>
      <select aria-label={props.label} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        {props.devices.map((d, i) => (
          <option key={d.deviceId} value={d.deviceId}>
            {d.label || `${props.label} ${i + 1}`}
          </option>
        ))}
      </select>
    </label>
  );
}
