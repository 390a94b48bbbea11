// hinge-imu reference firmware for the Seeed Studio XIAO nRF52840 Sense.
//
// Streams the on-board LSM6DS3TR-C (accelerometer + gyroscope) over BLE with the hinge-imu GATT profile
// (firmware_bridge/PROFILE.md in the hinge repository): batched int16 samples with a packet sequence number and
// the microsecond time stamp of each batch's first sample, an info characteristic, a control characteristic
// (start, stop, rate, range, time-sync ping) and the standard Battery Service.
//
// Build (Arduino IDE 2 or arduino-cli):
//   board package  "Seeed nRF52 Boards" (the Bluefruit-based core, NOT "Seeed nRF52 mbed-enabled Boards"),
//                  board "Seeed XIAO nRF52840 Sense"
//   library        "Seeed Arduino LSM6DS3" (>= 2.0.3)
//   arduino-cli compile --fqbn Seeeduino:nrf52:xiaonRF52840Sense hinge_imu_xiao
// This file was written against those APIs but has not been compiled in hinge's CI (no toolchain there).
//
// Axes are the IMU's own (printed on the XIAO's silkscreen); hinge handles any mounting.

#include <bluefruit.h>
#include <LSM6DS3.h>
#include <Wire.h>

#define FIRMWARE_VERSION "hinge-imu-xiao 1.0.0"

// ---------------------------------------------------------------- profile (must match PROFILE.md)
// 6b1e0000-7d3c-4f5a-9e21-48c0a1f3b2d4 and siblings ...0001 data, ...0002 info, ...0003 control.
// Bluefruit takes 128-bit UUIDs least-significant byte first.
static const uint8_t UUID_SERVICE[16] = {0xd4, 0xb2, 0xf3, 0xa1, 0xc0, 0x48, 0x21, 0x9e,
                                         0x5a, 0x4f, 0x3c, 0x7d, 0x00, 0x00, 0x1e, 0x6b};
static const uint8_t UUID_DATA[16]    = {0xd4, 0xb2, 0xf3, 0xa1, 0xc0, 0x48, 0x21, 0x9e,
                                         0x5a, 0x4f, 0x3c, 0x7d, 0x01, 0x00, 0x1e, 0x6b};
static const uint8_t UUID_INFO[16]    = {0xd4, 0xb2, 0xf3, 0xa1, 0xc0, 0x48, 0x21, 0x9e,
                                         0x5a, 0x4f, 0x3c, 0x7d, 0x02, 0x00, 0x1e, 0x6b};
static const uint8_t UUID_CONTROL[16] = {0xd4, 0xb2, 0xf3, 0xa1, 0xc0, 0x48, 0x21, 0x9e,
                                         0x5a, 0x4f, 0x3c, 0x7d, 0x03, 0x00, 0x1e, 0x6b};

enum Command : uint8_t { CMD_START = 0x01, CMD_STOP = 0x02, CMD_SET_RATE = 0x03, CMD_SET_RANGE = 0x04, CMD_PING = 0x05 };
enum Status : uint8_t { STATUS_OK = 0, STATUS_BAD_ARGUMENT = 1, STATUS_BUSY = 2, STATUS_UNKNOWN_COMMAND = 3 };
static const uint8_t REPLY_FLAG = 0x80;
static const uint8_t PROTOCOL_VERSION = 1;
static const uint8_t DATA_HEADER_BYTES = 9;           // u16 seq, u32 t_first_us, u16 interval_us, u8 n
static const uint8_t MAX_SAMPLES_PER_PACKET = 19;     // 9 + 19 * 12 = 237 bytes, fits an ATT MTU of 247
static const uint8_t PACKETS_PER_SECOND = 50;         // batch size = rate / 50 (4 samples at 208 Hz)

// LSM6DS3TR-C output data rates (Hz) and full-scale ranges supported by the Seeed library.
static const uint16_t RATES_HZ[] = {13, 26, 52, 104, 208, 416, 833};
static const uint32_t RATES_MHZ[] = {12500, 26000, 52000, 104000, 208000, 416000, 833000};
static const uint8_t ACC_RANGES_G[] = {2, 4, 8, 16};
static const uint16_t GYR_RANGES_DPS[] = {125, 250, 500, 1000, 2000};

// ---------------------------------------------------------------- state
LSM6DS3 imu(I2C_MODE, 0x6A);
BLEService hingeService(UUID_SERVICE);
BLECharacteristic dataChar(UUID_DATA);
BLECharacteristic infoChar(UUID_INFO);
BLECharacteristic controlChar(UUID_CONTROL);
BLEBas battery;

volatile bool streaming = false;
volatile bool restartImu = false;
uint8_t rateIndex = 4;          // 208 Hz
uint8_t accRangeG = 8;
uint16_t gyrRangeDps = 2000;

uint8_t packet[DATA_HEADER_BYTES + 12 * MAX_SAMPLES_PER_PACKET];
uint8_t samplesInPacket = 0;
uint8_t samplesPerPacket = 4;
uint16_t sequence = 0;
uint32_t firstSampleUs = 0;
uint32_t lastSampleUs = 0;
float intervalUs = 1e6f / 208.0f; // running mean of the measured sample interval
uint32_t lastBatteryMs = 0;

// ---------------------------------------------------------------- little-endian helpers
static void put16(uint8_t* p, uint16_t v) { p[0] = v & 0xFF; p[1] = v >> 8; }
static void put32(uint8_t* p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (v >> (8 * i)) & 0xFF; }

// ---------------------------------------------------------------- IMU
static void configureImu() {
  imu.settings.accelEnabled = 1;
  imu.settings.gyroEnabled = 1;
  imu.settings.accelRange = accRangeG;
  imu.settings.gyroRange = gyrRangeDps == 250 ? 245 : gyrRangeDps;   // the library names ±250 °/s "245"
  imu.settings.accelSampleRate = RATES_HZ[rateIndex];
  imu.settings.gyroSampleRate = RATES_HZ[rateIndex];
  imu.settings.accelBandWidth = RATES_HZ[rateIndex] >= 400 ? 200 : 100;
  imu.begin();
  samplesPerPacket = max(1, min((int)MAX_SAMPLES_PER_PACKET, RATES_HZ[rateIndex] / PACKETS_PER_SECOND));
  intervalUs = 1e9f / RATES_MHZ[rateIndex];
}

static bool sampleReady() {
  uint8_t status = 0;
  imu.readRegister(&status, LSM6DS3_ACC_GYRO_STATUS_REG);
  return (status & 0x03) == 0x03;   // XLDA and GDA: a new accelerometer and gyroscope sample
}

// ---------------------------------------------------------------- info / replies
static void publishInfo() {
  uint8_t info[9 + sizeof(FIRMWARE_VERSION) - 1];
  info[0] = PROTOCOL_VERSION;
  info[1] = accRangeG;
  put16(info + 2, gyrRangeDps);
  put32(info + 4, RATES_MHZ[rateIndex]);
  info[8] = streaming ? 1 : 0;
  memcpy(info + 9, FIRMWARE_VERSION, sizeof(FIRMWARE_VERSION) - 1);
  infoChar.write(info, sizeof(info));
}

static void reply(uint8_t command, uint8_t status) {
  uint8_t r[2] = {(uint8_t)(command | REPLY_FLAG), status};
  controlChar.notify(r, sizeof(r));
}

static void startStreaming() {
  samplesInPacket = 0;
  lastSampleUs = 0;
  streaming = true;
  publishInfo();
}

static void stopStreaming() {
  streaming = false;
  publishInfo();
}

// ---------------------------------------------------------------- control characteristic
static void onControl(uint16_t connHandle, BLECharacteristic* chr, uint8_t* data, uint16_t len) {
  (void)connHandle; (void)chr;
  if (len == 0) return;
  uint8_t command = data[0];
  switch (command) {
    case CMD_START:
      if (len != 1) { reply(command, STATUS_BAD_ARGUMENT); return; }
      startStreaming();
      reply(command, STATUS_OK);
      return;
    case CMD_STOP:
      if (len != 1) { reply(command, STATUS_BAD_ARGUMENT); return; }
      stopStreaming();
      reply(command, STATUS_OK);
      return;
    case CMD_SET_RATE: {
      if (len != 3) { reply(command, STATUS_BAD_ARGUMENT); return; }
      if (streaming) { reply(command, STATUS_BUSY); return; }
      uint16_t requested = data[1] | (data[2] << 8);
      uint8_t best = 0;
      for (uint8_t i = 1; i < sizeof(RATES_HZ) / sizeof(RATES_HZ[0]); i++)
        if (abs((int)RATES_HZ[i] - (int)requested) <= abs((int)RATES_HZ[best] - (int)requested)) best = i;
      rateIndex = best;
      restartImu = true;         // reconfigured from loop(), not from the BLE callback
      publishInfo();
      reply(command, STATUS_OK);
      return;
    }
    case CMD_SET_RANGE: {
      if (len != 4) { reply(command, STATUS_BAD_ARGUMENT); return; }
      if (streaming) { reply(command, STATUS_BUSY); return; }
      uint8_t acc = data[1];
      uint16_t gyr = data[2] | (data[3] << 8);
      bool accOk = false, gyrOk = false;
      for (uint8_t a : ACC_RANGES_G) accOk |= a == acc;
      for (uint16_t g : GYR_RANGES_DPS) gyrOk |= g == gyr;
      if (!accOk || !gyrOk) { reply(command, STATUS_BAD_ARGUMENT); return; }
      accRangeG = acc;
      gyrRangeDps = gyr;
      restartImu = true;
      publishInfo();
      reply(command, STATUS_OK);
      return;
    }
    case CMD_PING: {
      if (len != 5) { reply(command, STATUS_BAD_ARGUMENT); return; }
      uint8_t r[10] = {(uint8_t)(CMD_PING | REPLY_FLAG), STATUS_OK};
      memcpy(r + 2, data + 1, 4);          // echo the host's token
      put32(r + 6, micros());              // device clock when answering
      controlChar.notify(r, sizeof(r));
      return;
    }
    default:
      reply(command, STATUS_UNKNOWN_COMMAND);
  }
}

// ---------------------------------------------------------------- connection events
static void onConnect(uint16_t connHandle) {
  BLEConnection* connection = Bluefruit.Connection(connHandle);
  connection->requestMtuExchange(247);        // notifications of up to 244 bytes
  connection->requestDataLengthUpdate();
  connection->requestPHY();                   // 2M PHY when the central supports it
}

static void onDisconnect(uint16_t connHandle, uint8_t reason) {
  (void)connHandle; (void)reason;
  stopStreaming();                            // the recorder restarts the stream after reconnecting
}

// ---------------------------------------------------------------- battery (approximate)
static uint8_t batteryPercent() {
  digitalWrite(VBAT_ENABLE, LOW);             // connect the 1 MΩ / 510 kΩ divider to P0.31
  analogReference(AR_INTERNAL_3_0);
  analogReadResolution(12);
  float volts = analogRead(PIN_VBAT) * (3.0f / 4096.0f) * (1510.0f / 510.0f);
  digitalWrite(VBAT_ENABLE, HIGH);
  float percent = (volts - 3.3f) / (4.2f - 3.3f) * 100.0f;   // linear LiPo approximation
  return (uint8_t)constrain(percent, 0.0f, 100.0f);
}

// ---------------------------------------------------------------- setup / loop
void setup() {
  pinMode(VBAT_ENABLE, OUTPUT);
  digitalWrite(VBAT_ENABLE, HIGH);
  configureImu();

  Bluefruit.configPrphBandwidth(BANDWIDTH_MAX);   // large MTU and event length
  Bluefruit.begin();
  Bluefruit.setTxPower(4);
  char name[9];
  uint32_t id = NRF_FICR->DEVICEADDR[0] & 0xFFFF;
  snprintf(name, sizeof(name), "HNG-%04lX", (unsigned long)id);
  Bluefruit.setName(name);
  Bluefruit.Periph.setConnInterval(6, 12);        // 7.5–15 ms: 50 packets/s with headroom
  Bluefruit.Periph.setConnectCallback(onConnect);
  Bluefruit.Periph.setDisconnectCallback(onDisconnect);

  hingeService.begin();
  dataChar.setProperties(CHR_PROPS_NOTIFY);
  dataChar.setPermission(SECMODE_OPEN, SECMODE_NO_ACCESS);
  dataChar.setMaxLen(sizeof(packet));
  dataChar.begin();
  infoChar.setProperties(CHR_PROPS_READ);
  infoChar.setPermission(SECMODE_OPEN, SECMODE_NO_ACCESS);
  infoChar.setMaxLen(9 + 20);
  infoChar.begin();
  controlChar.setProperties(CHR_PROPS_WRITE | CHR_PROPS_NOTIFY);
  controlChar.setPermission(SECMODE_OPEN, SECMODE_OPEN);
  controlChar.setMaxLen(10);
  controlChar.setWriteCallback(onControl);
  controlChar.begin();
  publishInfo();
  battery.begin();
  battery.write(batteryPercent());

  Bluefruit.Advertising.addFlags(BLE_GAP_ADV_FLAGS_LE_ONLY_GENERAL_DISC_MODE);
  Bluefruit.Advertising.addService(hingeService);   // hinge scan recognises the 128-bit service UUID
  Bluefruit.ScanResponse.addName();
  Bluefruit.Advertising.restartOnDisconnect(true);  // reconnects take one advertising interval
  Bluefruit.Advertising.setInterval(32, 244);       // 20 ms fast, 152.5 ms slow (units of 0.625 ms)
  Bluefruit.Advertising.setFastTimeout(30);
  Bluefruit.Advertising.start(0);
}

void loop() {
  if (restartImu) {
    restartImu = false;
    configureImu();
  }
  if (millis() - lastBatteryMs > 30000) {
    lastBatteryMs = millis();
    battery.notify(batteryPercent());
  }
  if (!streaming || !sampleReady()) return;

  uint32_t now = micros();
  if (lastSampleUs != 0) intervalUs += 0.01f * ((float)(now - lastSampleUs) - intervalUs);  // slow running mean
  lastSampleUs = now;
  if (samplesInPacket == 0) firstSampleUs = now;

  int16_t values[6] = {imu.readRawAccelX(), imu.readRawAccelY(), imu.readRawAccelZ(),
                       imu.readRawGyroX(), imu.readRawGyroY(), imu.readRawGyroZ()};
  uint8_t* p = packet + DATA_HEADER_BYTES + 12 * samplesInPacket;
  for (int i = 0; i < 6; i++) put16(p + 2 * i, (uint16_t)values[i]);
  samplesInPacket++;

  if (samplesInPacket == samplesPerPacket) {
    put16(packet, sequence);
    put32(packet + 2, firstSampleUs);
    put16(packet + 6, (uint16_t)(intervalUs + 0.5f));
    packet[8] = samplesInPacket;
    dataChar.notify(packet, DATA_HEADER_BYTES + 12 * samplesInPacket);  // waits for a free TX buffer
    sequence++;                                  // advances even if a notification is lost: gaps stay visible
    samplesInPacket = 0;
  }
}
