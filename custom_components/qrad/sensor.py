"""Room, power, energy and compute sensors of a Q.rad."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    LIGHT_LUX,
    PERCENTAGE,
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    EntityCategory,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfRatio,
    UnitOfSoundPressure,
    UnitOfTemperature,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util.dt import utcnow

from .api.cloud_models import ComputeStatus, HeatSource
from .coordinator import QradConfigEntry, QradData
from .entity import QradEntity

PARALLEL_UPDATES = 0

type SensorValue = float | int | str | datetime | None


@dataclass(frozen=True, kw_only=True)
class QradSensorDescription(SensorEntityDescription):
    """How to read one sensor from a Q.rad's data."""

    value_fn: Callable[[QradData], SensorValue]
    # None: available while the Q.rad is; the cloud's sensors, while it speaks.
    available_fn: Callable[[QradData], bool] | None = None


def _from_cloud(
    read: Callable[[ComputeStatus], SensorValue],
) -> Callable[[QradData], SensorValue]:
    """A value read from the cloud controller's status (None before it has one)."""
    return lambda data: read(data.cloud_status) if data.cloud_status else None


def _cloud_spoke(data: QradData) -> bool:
    return data.cloud_status is not None


def _boot_time(data: QradData) -> datetime:
    """Uptime as the moment of the last boot, rounded so it does not tick."""
    booted = utcnow() - timedelta(seconds=data.state.device.uptime_s)
    return booted.replace(second=0, microsecond=0)


SENSORS: tuple[QradSensorDescription, ...] = (
    QradSensorDescription(
        key="temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        value_fn=lambda data: data.state.sensors.temperature,
    ),
    QradSensorDescription(
        key="humidity",
        device_class=SensorDeviceClass.HUMIDITY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda data: data.state.sensors.humidity,
    ),
    QradSensorDescription(
        key="co2",
        device_class=SensorDeviceClass.CO2,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfRatio.PARTS_PER_MILLION,
        value_fn=lambda data: data.state.sensors.co2_ppm,
    ),
    QradSensorDescription(
        key="voc_index",
        translation_key="voc_index",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: data.state.sensors.voc_index,
    ),
    QradSensorDescription(
        key="illuminance",
        device_class=SensorDeviceClass.ILLUMINANCE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=LIGHT_LUX,
        value_fn=lambda data: data.state.sensors.illuminance_lx,
    ),
    QradSensorDescription(
        key="noise",
        translation_key="noise",
        device_class=SensorDeviceClass.SOUND_PRESSURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfSoundPressure.WEIGHTED_DECIBEL_A,
        suggested_display_precision=0,
        value_fn=lambda data: data.state.sensors.noise_db,
    ),
    QradSensorDescription(
        key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda data: data.state.power.power_w,
    ),
    QradSensorDescription(
        key="energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda data: data.state.meters.energy_kwh,
    ),
    QradSensorDescription(
        key="compute_throughput",
        translation_key="compute_throughput",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement="GFLOPS",
        suggested_display_precision=0,
        value_fn=lambda data: data.state.compute.gflops,
    ),
    # Disabled by default: the cloud's money sensor says what the work earned;
    # the TFLOP count interests the operator more than the owner.
    QradSensorDescription(
        key="compute_work",
        translation_key="compute_work",
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement="TFLOP",
        suggested_display_precision=0,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.state.meters.compute_tflop,
    ),
    # Disabled by default: how many jobs share the CPUs changes nothing an owner
    # does; compute throughput is the figure that follows the heat.
    QradSensorDescription(
        key="jobs_running",
        translation_key="jobs_running",
        state_class=SensorStateClass.MEASUREMENT,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.state.compute.jobs_running,
    ),
    QradSensorDescription(
        key="wifi_signal",
        translation_key="wifi_signal",
        device_class=SensorDeviceClass.SIGNAL_STRENGTH,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.state.device.wifi_rssi_dbm,
    ),
    QradSensorDescription(
        key="wifi_clients",
        translation_key="wifi_clients",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: len(data.state.wifi.clients),
    ),
    # Disabled by default: the network's name, set once and rarely read again.
    QradSensorDescription(
        key="wifi_ssid",
        translation_key="wifi_ssid",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.state.wifi.ssid,
    ),
    # Disabled by default: a few watts that the charging sensor already
    # summarises; kept for whoever checks a charger.
    QradSensorDescription(
        key="charger_power",
        translation_key="charger_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.state.charger.power_w,
    ),
    QradSensorDescription(
        key="uptime",
        translation_key="uptime",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_boot_time,
    ),
)


# What the cloud controller reports about a Q.rad's compute and money.
CLOUD_SENSORS: tuple[QradSensorDescription, ...] = (
    # Disabled by default: the heat source sensor says in words what this share
    # says in percent.
    QradSensorDescription(
        key="heat_share",
        translation_key="heat_share",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        entity_registry_enabled_default=False,
        value_fn=_from_cloud(lambda status: round(status.heat_share * 100, 1)),
        available_fn=_cloud_spoke,
    ),
    QradSensorDescription(
        key="heat_source",
        translation_key="heat_source",
        device_class=SensorDeviceClass.ENUM,
        options=[source.value for source in HeatSource],
        value_fn=_from_cloud(lambda status: status.heat_source.value),
        available_fn=_cloud_spoke,
    ),
    QradSensorDescription(
        key="reimbursed",
        translation_key="reimbursed",
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        native_unit_of_measurement="EUR",
        suggested_display_precision=2,
        value_fn=_from_cloud(lambda status: status.reimbursed_eur),
        available_fn=_cloud_spoke,
    ),
    # Disabled by default: the cloud's allocation, for diagnosing why a room
    # gets less heat than asked (the heat source sensor names the reason).
    QradSensorDescription(
        key="power_target",
        translation_key="power_target",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_from_cloud(lambda status: status.power_target_w),
        available_fn=_cloud_spoke,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: QradConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Every sensor of the Q.rad."""
    coordinator = entry.runtime_data
    descriptions = SENSORS + (CLOUD_SENSORS if coordinator.hub is not None else ())
    async_add_entities(
        QradSensor(coordinator, description) for description in descriptions
    )


class QradSensor(QradEntity, SensorEntity):
    """One reading of a Q.rad."""

    entity_description: QradSensorDescription

    @property
    def available(self) -> bool:
        """As the Q.rad, or as its description says."""
        if (available_fn := self.entity_description.available_fn) is None:
            return super().available
        return available_fn(self.coordinator.data)

    @property
    def native_value(self) -> SensorValue:
        """Read the value from the latest data."""
        return self.entity_description.value_fn(self.coordinator.data)

    @override
    def _shown(self) -> SensorValue:
        """The native value: a sensor's `state` converts and rounds it first.

        Compared on every push of every Q.rad, that made telling "unchanged"
        three times dearer (benchmarks/results/profile.md, issue 21).
        """
        return self.native_value
