// Before every release, back up the application's VM and keep the last three backups; each time the series
// takes a new backup, also take a full one, described by the release backup it follows.
//
// The SDK is generated into ./sdk (see the README's Go section); go.mod points at it with a replace.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/pulumi-zstack/pulumi-zstack/sdk/go/zstack"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		conf := config.New(ctx, "")
		rootVolume := pulumi.String(conf.Require("rootVolumeUuid"))
		storage := pulumi.String(conf.Require("backupStorageUuid"))

		series, err := zstack.NewVmBackupSeries(ctx, "pre-release", &zstack.VmBackupSeriesArgs{
			RootVolumeUuid:    rootVolume,
			BackupStorageUuid: storage,
			Name:              pulumi.String("pre-release"),
			Description:       pulumi.String("Taken by the release pipeline before deploying a new version"),
			Keep:              pulumi.Int(3),
			Triggers:          pulumi.Array{pulumi.String(conf.Require("appVersion"))},
			CreateTimeout:     pulumi.String("90m"),
		})
		if err != nil {
			return err
		}

		// A series may keep no backup for a while (refresh found them all deleted), so its latest one is
		// optional; its volume and storage are always set, and need no conversion.
		latest := series.LatestGroupUuid.Elem()
		full, err := zstack.NewVmBackup(ctx, "full", &zstack.VmBackupArgs{
			RootVolumeUuid:    series.RootVolumeUuid,
			BackupStorageUuid: series.BackupStorageUuid,
			Name:              pulumi.String("full"),
			Description:       pulumi.Sprintf("Full backup after release backup %s", latest),
			Mode:              pulumi.String("full"),
			Triggers:          pulumi.Array{latest},
			UserTags:          pulumi.StringArray{pulumi.String("release-full")},
		})
		if err != nil {
			return err
		}

		ctx.Export("latestBackup", series.LatestGroupUuid)
		ctx.Export("keptBackups", series.GroupUuids)
		ctx.Export("fullBackup", full.ID())
		ctx.Export("fullBackupBytes", full.TotalSize)
		return nil
	})
}
