// Before every release, back up the application's VM and keep the last three backups; each time the series
// takes a new backup, also take a full one, described by the release backup it follows.
//
// The SDK is generated into ./sdk and built (see the README's TypeScript section).
import * as pulumi from "@pulumi/pulumi";
import * as zstack from "@pulumi-zstack/zstack";

const config = new pulumi.Config();
const rootVolumeUuid = config.require("rootVolumeUuid");
const backupStorageUuid = config.require("backupStorageUuid");

const series = new zstack.VmBackupSeries("pre-release", {
    rootVolumeUuid,
    backupStorageUuid,
    name: "pre-release",
    description: "Taken by the release pipeline before deploying a new version",
    keep: 3,
    triggers: [config.require("appVersion")],
    createTimeout: "90m",
});

const full = new zstack.VmBackup("full", {
    rootVolumeUuid: series.rootVolumeUuid,
    backupStorageUuid: series.backupStorageUuid,
    name: "full",
    description: pulumi.interpolate`Full backup after release backup ${series.latestGroupUuid}`,
    mode: "full",
    triggers: [series.latestGroupUuid],
    userTags: ["release-full"],
});

export const latestBackup = series.latestGroupUuid;
export const keptBackups = series.groupUuids;
export const fullBackup = full.id;
export const fullBackupBytes = full.totalSize;
