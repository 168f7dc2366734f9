"""
Set every parameter of a running node process and check its effect or its refusal.

For each Spec a valid value different from the node's is chosen. A parameter
marked ``configure_only`` must be refused with the lifecycle steps; any
other must be accepted and then show in the node's ``parameters``
diagnostics, the values it works with (a model change once it has loaded).
"""
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter

from conftest import diagnostic_values, wait_for


def other_value(name, spec, current):
    """Return a valid value for ``spec`` that differs from ``current``."""
    if isinstance(spec.default, bool):
        return not current
    if spec.choices:
        return next(choice for choice in spec.choices if choice != current)
    if spec.int_range:
        low, high, step = spec.int_range
        return low if current != low else low + step
    if spec.float_range:
        low, high = spec.float_range
        return round((low + high) / 3, 3) if abs(current - (low + high) / 3) > 1e-6 else high
    raise AssertionError(f'give {name} a value in the test: no rule for {spec}')


def effective(diagnostics, node: str) -> dict:
    values = diagnostic_values(diagnostics.messages, node)[1].get('parameters', '')
    return dict(item.split('=', 1) for item in values.split('; ') if '=' in item)


def set_parameter(ros, node: str, name: str, value):
    client = ros.create_client(SetParameters, f'{node}/set_parameters')
    try:
        assert client.wait_for_service(timeout_sec=30)
        future = client.call_async(SetParameters.Request(
            parameters=[Parameter(name, value=value).to_parameter_msg()]))
        assert wait_for(future.done, 30), f'{node} did not answer for {name}'
        return future.result().results[0]
    finally:
        ros.destroy_client(client)


def sweep(ros, diagnostics, node: str, specs, values=None):
    """Set each parameter of ``specs`` (``values`` overrides the choice); return outcomes."""
    values = values or {}
    assert wait_for(lambda: effective(diagnostics, node), 60), f'no parameters from {node}'
    outcomes = {}
    for name, spec in specs.items():
        current = type(spec.default)(effective(diagnostics, node)[name]) \
            if not isinstance(spec.default, (bool, list)) else None
        value = values[name] if name in values else other_value(name, spec, current)
        result = set_parameter(ros, node, name, value)
        if spec.configure_only:
            assert not result.successful and 'takes effect at configure' in result.reason, \
                f'{name}: {result}'
            outcomes[name] = 'refused'
            continue
        assert result.successful, f'{name}={value} refused: {result.reason}'
        shown = str(value)
        assert wait_for(lambda: effective(diagnostics, node).get(name) == shown, 60), \
            f'{name}={value} accepted but the node works with ' \
            f'{effective(diagnostics, node).get(name)}'
        outcomes[name] = 'applied'
    return outcomes
